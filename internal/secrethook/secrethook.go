// Package secrethook lets kura's own tests see the key material kura
// handles, so that they can check that none of it ever reaches an error
// message, a warning or an audit line (see docs/security.md, "Secrets
// hygiene").
//
// Observe is nil in every kura binary: only test code compiled into the
// same program can set it, and nothing outside kura's module can import
// an internal package. There is no environment variable or flag that
// turns it on.
package secrethook

// Observe, when not nil, is called with every data key kura makes or
// recovers, every Shamir share it splits or combines, and every MAC it
// computes or decrypts (a hash of the values, which the file keeps
// encrypted). It must not keep the slice: the caller may clear it
// afterwards.
var Observe func(secret []byte)

// Saw reports secret to Observe, if set.
func Saw(secret []byte) {
	if Observe != nil {
		Observe(secret)
	}
}
