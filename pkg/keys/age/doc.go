// Package age is the age key source: it wraps a SOPS data key (or Shamir
// share) for age recipients, and unwraps it again with the identities the
// user holds.
//
// A wrapped payload is stored in the metadata exactly as sops 3.13.2 stores
// it: an ASCII-armored age file with 64-column lines and a trailing newline,
// next to the recipient string it was encrypted to.
//
// Recipients come from configuration and command-line flags, so
// [ParseRecipient] needs nothing but the string. Identities come from the
// user's environment, so [Identities] reads them through an [Env], which
// tests can replace wholesale: nothing here looks at process-wide state
// except [DefaultEnv] and [DefaultKeysPath].
//
// All cryptography is done by filippo.io/age.
package age
