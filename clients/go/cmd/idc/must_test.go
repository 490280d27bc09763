package main

// must returns v, failing the test run with a panic when err is not nil:
// for building requests from queries that are valid by construction.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
