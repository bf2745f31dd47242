module github.com/faed/faed

go 1.26.8

require (
	github.com/apache/thrift v0.25.0
	golang.org/x/time v0.16.0
)
