// Package config is faed's TOML file: the schema (each section is the Config
// type of the package that uses it), the embedded defaults, validation,
// ${ENV} expansion and redaction.
//
// Conventions for sections:
//   - every field has a comment and a toml tag; durations are time.Duration
//     written as strings like "750ms";
//   - a field holding a secret carries the tag `secret:"true"`: Redacted
//     masks it, so it is never printed or served;
//   - a section is added by one field in Config, one line in Default and
//     one in Validate, and documented in etc/faed.toml (a test checks that
//     every field appears there).
package config
