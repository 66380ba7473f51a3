// Package words holds the small rules of chant's English: counts of
// things.
package words

import "fmt"

// Plural is n and noun, plural unless n is 1: "1 spec", "2 specs".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
