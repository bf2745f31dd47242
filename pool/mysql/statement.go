package mysql

import "strings"

// Kind is what a statement does, as my_query treats it.
type Kind int

// Statement kinds.
const (
	// Exec changes data: rowsAffected and lastInsertId, no rows.
	Exec Kind = iota
	// Query returns rows.
	Query
	// Begin opens a transaction (BEGIN, START TRANSACTION).
	Begin
	// Commit and Rollback end one (ROLLBACK TO SAVEPOINT is an Exec).
	Commit
	Rollback
)

func (k Kind) String() string {
	return [...]string{"exec", "query", "begin", "commit", "rollback"}[k]
}

// isQueryWord: statements starting with w return rows.
func isQueryWord(w string) bool {
	switch w {
	case "SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "WITH", "VALUES", "TABLE":
		return true
	}
	return false
}

// Classify tells what sql is from its first words, case-insensitively,
// after white space, opening parentheses and /* comments */.
func Classify(sql string) Kind {
	w1, rest := firstWord(sql)
	switch {
	case isQueryWord(w1):
		return Query
	case w1 == "BEGIN":
		return Begin
	case w1 == "START":
		if w2, _ := firstWord(rest); w2 == "TRANSACTION" {
			return Begin
		}
	case w1 == "COMMIT":
		return Commit
	case w1 == "ROLLBACK":
		w2, rest := firstWord(rest)
		if w2 == "WORK" {
			w2, _ = firstWord(rest)
		}
		if w2 != "TO" {
			return Rollback
		}
	}
	return Exec
}

// firstWord returns the first word of s in upper case and what follows it.
func firstWord(s string) (string, string) {
	s = skipSpace(s)
	end := 0
	for end < len(s) && isWordByte(s[end]) {
		end++
	}
	return strings.ToUpper(s[:end]), s[end:]
}

func skipSpace(s string) string {
	for {
		s = strings.TrimLeft(s, " \t\r\n\f\v(")
		if !strings.HasPrefix(s, "/*") {
			return s
		}
		end := strings.Index(s[2:], "*/")
		if end < 0 {
			return ""
		}
		s = s[end+4:]
	}
}

func isWordByte(b byte) bool {
	return b == '_' || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') || ('0' <= b && b <= '9')
}
