//go:build !race

package process_test

// raceEnabled is true when the tests run with -race: the consumer binary is
// then built with -race too.
const raceEnabled = false
