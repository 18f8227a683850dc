// Package pgp is the OpenPGP key source: it wraps a SOPS data key (or
// Shamir share) for PGP keys named by fingerprint, and unwraps it again
// with the user's gpg or with secret key files.
//
// A wrapped payload is stored as sops 3.13.2 stores it: an ASCII-armored
// OpenPGP message whose literal data is the raw payload, without a trailing
// newline, next to the fingerprint as configured with its spaces removed.
//
// # Encrypting: where the public key comes from
//
// A fingerprint (from --pgp, SOPS_PGP_FP or .sops.yaml; several are
// separated by commas) is 40 hexadecimal digits, or 64 for v5 and v6 keys;
// spaces are ignored, and a trailing "!" means "this very subkey" as in
// gpg. The public key is looked for, the first place that has it winning:
//
//  1. the user's gpg: gpg --export FINGERPRINT, run as SOPS_GPG_EXEC
//     (default "gpg") with GNUPGHOME, so that any keyring gpg reads works;
//  2. the key files listed in KURA_PGP_KEY_FILE;
//  3. the legacy GnuPG 1.x keyring $GNUPGHOME/pubring.gpg (GNUPGHOME
//     defaults to ~/.gnupg).
//
// A key that is revoked or expired, or has no valid encryption subkey, is
// refused. The encryption itself is done in Go (github.com/ProtonMail/go-crypto).
//
// # Decrypting: where the secret key comes from
//
//  1. the user's gpg: gpg --decrypt, so that gpg-agent, pinentry and
//     smartcards work as they do for gpg itself. Set GPG_TTY=$(tty), as
//     gpg's manual asks, for a terminal pinentry to find the terminal;
//  2. when gpg is not installed or cannot decrypt, the secret keys in the
//     files listed in KURA_PGP_KEY_FILE, in order;
//  3. then the legacy keyring $GNUPGHOME/secring.gpg.
//
// Secret keys in files are used in Go, without gpg or gpg-agent: a
// passphrase-protected one is unlocked with a passphrase asked on the
// terminal, at most once per key and run, and fails at once when there is
// no terminal (as in CI: store such keys unprotected, in a CI secret).
//
// KURA_PGP_KEY_FILE is kura's own variable; sops has none. It holds paths
// separated by the OS list separator (":", or ";" on Windows), each a file
// of OpenPGP keys: armored (gpg --export-secret-keys --armor, several blocks
// may follow one another) or binary, secret or public.
//
// When neither gpg nor any file holds a secret key for the message, Unwrap
// reports keys.ErrNoIdentity, so that other master keys can be tried.
//
// Nothing here touches process-wide state except [DefaultEnv],
// [ParseRecipient] and [ParseRecipients]: everything else goes through an
// [Env], which tests replace wholesale.
package pgp
