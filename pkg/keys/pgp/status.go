package pgp

import (
	"bytes"
	"strings"

	"github.com/kura-secrets/kura/internal/terminal"
)

// gpgStatus is what one gpg run said on its status channel (--status-fd,
// described in GnuPG's doc/DETAILS), with its last log line kept as the
// human reason for a failure.
//
// The status lines are the machine interface: stable across versions and
// untranslated, unlike the log ("gpg: decryption failed: No secret key"
// comes in the user's language).
type gpgStatus struct {
	encTo      []string        // ENC_TO: the key IDs the message is for
	noSecKey   map[string]bool // NO_SECKEY: key IDs gpg has no secret key for
	okay       bool            // DECRYPTION_OKAY
	failed     bool            // DECRYPTION_FAILED, BADMDC
	badPass    bool            // BAD_PASSPHRASE
	missPass   bool            // MISSING_PASSPHRASE
	noData     bool            // NODATA: no OpenPGP data, or not where expected
	pkFailed   bool            // ERROR pkdecrypt_failed: it has a key but could not use it
	pinentry   bool            // PINENTRY_LAUNCHED: it tried to ask for a passphrase
	statusSeen bool            // any status line at all: gpg understood --status-fd
	// log holds the first few "gpg: " lines, cleaned for an error message.
	log []string
}

// maxLog bounds how many log lines are kept.
const maxLog = 20

const statusPrefix = "[GNUPG:] "

// maxReason bounds a gpg log line quoted in an error.
const maxReason = 200

// parseStatus reads gpg's standard error, where kura asks gpg to write its
// status lines too (--status-fd 2): "[GNUPG:] " lines are status, "gpg: "
// lines are log. Anything else (continuation lines of the log, such as a
// key's user ID) is ignored.
func parseStatus(stderr []byte) gpgStatus {
	st := gpgStatus{noSecKey: map[string]bool{}}
	for _, line := range bytes.Split(stderr, []byte("\n")) {
		l := strings.TrimRight(string(line), "\r")
		if rest, ok := strings.CutPrefix(l, statusPrefix); ok {
			st.statusSeen = true
			st.addStatus(strings.Fields(rest))
			continue
		}
		if rest, ok := strings.CutPrefix(l, "gpg: "); ok && len(st.log) < maxLog {
			if r := cleanLog(rest); r != "" {
				st.log = append(st.log, r)
			}
		}
	}
	return st
}

func (st *gpgStatus) addStatus(f []string) {
	if len(f) == 0 {
		return
	}
	switch f[0] {
	case "ENC_TO":
		if len(f) > 1 {
			st.encTo = append(st.encTo, strings.ToUpper(f[1]))
		}
	case "NO_SECKEY":
		if len(f) > 1 {
			st.noSecKey[strings.ToUpper(f[1])] = true
		}
	case "DECRYPTION_OKAY":
		st.okay = true
	case "DECRYPTION_FAILED", "BADMDC":
		st.failed = true
	case "BAD_PASSPHRASE":
		st.badPass = true
	case "MISSING_PASSPHRASE":
		st.missPass = true
	case "NODATA":
		st.noData = true
	case "ERROR":
		if len(f) > 1 && f[1] == "pkdecrypt_failed" {
			st.pkFailed = true
		}
	case "PINENTRY_LAUNCHED":
		st.pinentry = true
	}
}

// decrypted reports whether gpg says it decrypted the message and
// checked its integrity. A plaintext (unencrypted) OpenPGP message also
// makes gpg -d print data and succeed, but without DECRYPTION_OKAY.
func (st *gpgStatus) decrypted() bool {
	return st.okay && !st.failed
}

// noSecretKey reports whether gpg failed only because it holds the secret
// key of none of the message's recipients. A secret key it has but could
// not use (wrong passphrase, pinentry cancelled, card missing) is not
// that: it fails with another status.
func (st *gpgStatus) noSecretKey() bool {
	if st.okay || st.badPass || st.missPass || len(st.encTo) == 0 {
		return false
	}
	for _, id := range st.encTo {
		if !st.noSecKey[id] {
			return false
		}
	}
	return true
}

// reason says in a few words why gpg failed, for an error message.
//
// When gpg has the secret key but cannot use it, its last words are still
// "decryption failed: No secret key"; the line that explains comes
// earlier ("public key decryption failed: Inappropriate ioctl for device"
// when pinentry has no terminal), so the first failure is quoted then.
func (st *gpgStatus) reason() string {
	switch {
	case st.badPass:
		return "bad passphrase"
	case st.missPass:
		return "no passphrase given"
	case st.pkFailed:
		r := "it holds the secret key but could not use it"
		if l := st.firstFailure(); l != "" {
			r += ": " + l
		}
		if st.pinentry {
			r += " (if pinentry could not ask for the passphrase, set GPG_TTY=$(tty))"
		}
		return r
	case st.lastLog() != "":
		return st.lastLog()
	case st.noData:
		return "no valid OpenPGP data found"
	}
	return ""
}

func (st *gpgStatus) lastLog() string {
	if len(st.log) == 0 {
		return ""
	}
	return st.log[len(st.log)-1]
}

// firstFailure is the first log line that reports a failure, in English
// at least, or else the last line.
func (st *gpgStatus) firstFailure() string {
	for _, l := range st.log {
		if strings.Contains(l, "failed") {
			return l
		}
	}
	return st.lastLog()
}

// cleanLog makes a gpg log line fit in a one-line error: control
// characters replaced, length bounded.
func cleanLog(s string) string {
	s = strings.TrimSpace(terminal.Printable(s))
	if len(s) > maxReason {
		cut := maxReason
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
