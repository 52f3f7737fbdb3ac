//go:build race

package ginlog_test

// raceDetector says the tests run under the race detector, whose sync.Pool
// drops items at random: allocation counts then vary from run to run.
const raceDetector = true
