package main

import "runtime/debug"

// version is the release; build is stamped from the VCS info Go embeds.
const version = "0.1.0"

// buildSHA is the git commit the binary was built from ("dev" when unknown),
// with "-dirty" when the tree had uncommitted changes.
func buildSHA() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	sha, dirty := "dev", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			sha = s.Value
			if len(sha) > 12 {
				sha = sha[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		sha += "-dirty"
	}
	return sha
}
