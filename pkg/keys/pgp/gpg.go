package pgp

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// gpgOutcome is how a gpg run ended, as far as choosing what to do next.
type gpgOutcome int

const (
	gpgDone        gpgOutcome = iota // it did the job
	gpgUnavailable                   // it could not be run at all
	gpgNoKey                         // it has no key for the job
	gpgFailed                        // it has the key, or said nothing clear, and failed
)

// gpgResult is one gpg run: its outcome, and a reason to quote when it is
// not gpgDone.
type gpgResult struct {
	outcome gpgOutcome
	reason  string
}

// run runs gpg with args and stdin. A gpg that cannot be started is
// remembered, so a missing gpg costs one attempt per Source.
func (s *Source) run(args []string, stdin []byte) (stdout, stderr []byte, res gpgResult) {
	if s.gpgMissing != "" {
		return nil, nil, gpgResult{gpgUnavailable, s.gpgMissing}
	}
	bin := s.env.gpgBinary()
	if s.env.Run == nil {
		s.gpgMissing = "running gpg is not available here"
		return nil, nil, gpgResult{gpgUnavailable, s.gpgMissing}
	}
	argv := append([]string{bin}, args...)
	stdout, stderr, err := s.env.Run(argv, s.env.gpgEnv(), stdin)
	if err == nil {
		return stdout, stderr, gpgResult{outcome: gpgDone}
	}
	if _, ok := errors.AsType[*exec.ExitError](err); ok {
		return stdout, stderr, gpgResult{gpgFailed, err.Error()}
	}
	s.gpgMissing = gpgStartError(bin, err)
	return nil, nil, gpgResult{gpgUnavailable, s.gpgMissing}
}

// gpgStartError says why bin could not be started, naming the variable
// that chose it when one did.
func gpgStartError(bin string, err error) string {
	what := "gpg"
	if bin != "gpg" {
		what = fmt.Sprintf("gpg (%s=%s)", GPGExecEnv, bin)
	}
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return what + " is not installed"
	case errors.Is(err, fs.ErrNotExist):
		return what + " does not exist"
	}
	return fmt.Sprintf("%s could not be run: %v", what, pathless(err))
}

// gpgDecrypt decrypts a message with the user's gpg, which reaches the keys
// in any keybox, through gpg-agent, with pinentry asking for passphrases
// and smartcards as configured. So there is deliberately no --batch: the
// agent may need to ask.
//
// Nor is there --quiet, which would be natural, because gpg 2.2 then
// leaves out the NO_SECKEY status lines that tell "not my key" from a
// real failure. The log this leaves on standard error is only read here.
func (s *Source) gpgDecrypt(m *message) ([]byte, gpgResult) {
	stdout, stderr, res := s.run([]string{"--status-fd", "2", "--decrypt"}, []byte(m.armored))
	if res.outcome == gpgUnavailable {
		return nil, res
	}
	st := parseStatus(stderr)
	switch {
	case res.outcome == gpgDone && st.decrypted() && len(stdout) > 0:
		return stdout, res
	case st.noSecretKey():
		return nil, gpgResult{gpgNoKey, "gpg has no secret key for it"}
	case res.outcome == gpgDone && st.decrypted():
		// An older gpg drops packets it does not know, such as AEAD
		// encrypted data, and says nothing.
		return nil, gpgResult{gpgFailed, "gpg decrypted nothing (it may be too old for this message)"}
	case res.outcome == gpgDone && !st.statusSeen:
		return nil, gpgResult{gpgFailed, "gpg did not report on the decryption: is " + GPGExecEnv + " a GnuPG-compatible program?"}
	case res.outcome == gpgDone:
		return nil, gpgResult{gpgFailed, "gpg did not report a successful decryption"}
	}
	if r := st.reason(); r != "" {
		res.reason = "gpg: " + r
	} else {
		res.reason = "gpg failed: " + res.reason
	}
	return nil, res
}

// gpgExport asks gpg for the public key spec names, in its binary form.
// gpg exports the whole key, whichever of its (sub)keys the spec names.
func (s *Source) gpgExport(spec keySpec) (openpgp.EntityList, gpgResult) {
	stdout, stderr, res := s.run([]string{"--batch", "--export", spec.hex}, nil)
	switch res.outcome {
	case gpgUnavailable:
		return nil, res
	case gpgFailed:
		st := parseStatus(stderr)
		if r := st.lastLog(); r != "" {
			res.reason = "gpg: " + r
		} else {
			res.reason = "gpg failed: " + res.reason
		}
		return nil, res
	}
	if len(stdout) == 0 {
		return nil, gpgResult{gpgNoKey, "gpg has no public key for it"}
	}
	list, err := parseKeys(stdout)
	if err != nil {
		return nil, gpgResult{gpgFailed, "the key gpg exported cannot be read: " + err.Error()}
	}
	return list, res
}
