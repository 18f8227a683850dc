package age

import (
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

func TestParseRecipient(t *testing.T) {
	k1 := corpusKey(t, "age1")
	hybrid, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	pluginRecipient := plugin.EncodeRecipient("kuratest", []byte("some data"))
	tests := []struct {
		in      string
		want    string // the stored recipient; "" for an error
		errHas  []string
		errNots []string
	}{
		{in: k1.recipient, want: k1.recipient},
		{in: " \t" + k1.recipient + " \n", want: k1.recipient},
		{in: hybrid.Recipient().String(), want: hybrid.Recipient().String()},
		{in: pluginRecipient, want: pluginRecipient},
		{in: testEd25519().recipient, want: testEd25519().recipient},
		{in: testRSA().recipient, want: testRSA().recipient},

		{in: "", errHas: []string{`""`, "unknown type"}},
		{in: "pgp:ABCDEF", errHas: []string{`"pgp:ABCDEF"`, "unknown type"}},
		{in: strings.ToUpper(k1.recipient), errHas: []string{"unknown type"}},
		{in: k1.recipient[:len(k1.recipient)-1] + "q", errHas: []string{"X25519", k1.recipient[:len(k1.recipient)-1] + "q", "checksum"}},
		{in: "age1pq1qqqq", errHas: []string{"post-quantum", "age1pq1qqqq"}},
		{in: "age1x1qqqq", errHas: []string{"plugin", "age1x1qqqq"}},
		{in: "ssh-ed25519 AAAAnotbase64", errHas: []string{"SSH", "ssh-ed25519 AAAAnotbase64"}},
		{in: "ssh-dss AAAAB3NzaC1kc3MAAACBAP", errHas: []string{"SSH", "ssh-dss"}},
		// A secret pasted as a recipient is refused without being shown.
		{in: k1.identity, errHas: []string{"private key"}, errNots: []string{k1.identity[16:]}},
		{in: testEd25519().private, errHas: []string{"private key"}, errNots: []string{testEd25519().private[40:80]}},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 30 {
			name = name[:30]
		}
		t.Run(name, func(t *testing.T) {
			r, err := ParseRecipient(tt.in)
			if tt.want != "" {
				if err != nil {
					t.Fatal(err)
				}
				if r.Identity() != tt.want {
					t.Fatalf("Identity() = %q, want %q", r.Identity(), tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error for %q", tt.in)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tt.errNots {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q shows secret material", err)
				}
			}
		})
	}
}

func TestParseRecipients(t *testing.T) {
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" , ,", nil, false},
		{k1.recipient, []string{k1.recipient}, false},
		{k1.recipient + "," + k2.recipient, []string{k1.recipient, k2.recipient}, false},
		{" " + k1.recipient + " ,, " + k2.recipient + " ,", []string{k1.recipient, k2.recipient}, false},
		{k1.recipient + ",nonsense", nil, true},
	}
	for _, tt := range tests {
		rs, err := ParseRecipients(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseRecipients(%q) error = %v", tt.in, err)
			continue
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Identity())
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ParseRecipients(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
