// Package shamir splits a data key into shares with Shamir's secret
// sharing over GF(2^8), in the share format SOPS uses: each share is the
// evaluated bytes followed by one byte holding its x coordinate, and share
// i (counting from 0) is evaluated at x = i+1.
//
// No maintained Go library implements that format (Vault's package picks
// random x coordinates and SOPS carries its own copy), so the field
// arithmetic is written here. It is written to run in constant time: no
// lookup tables indexed by secret bytes and no branches on them, so the
// time taken does not depend on the key.
package shamir

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/kura-secrets/kura/internal/secrethook"
)

// mul multiplies in GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1,
// using masks instead of branches on the operands.
func mul(a, b byte) byte {
	var p byte
	for i := 0; i < 8; i++ {
		p ^= a & -(b & 1)
		hi := -(a >> 7)
		a = (a << 1) ^ (0x1b & hi)
		b >>= 1
	}
	return p
}

// inv returns the multiplicative inverse (a^254); inv(0) is 0.
func inv(a byte) byte {
	// a^254 = a^(2+4+8+16+32+64+128)
	r := byte(1)
	x := mul(a, a) // a^2
	for i := 0; i < 7; i++ {
		r = mul(r, x)
		x = mul(x, x)
	}
	return r
}

// Split divides secret into parts shares, any threshold of which recover
// it. 2 <= threshold <= parts <= 255.
func Split(secret []byte, parts, threshold int) ([][]byte, error) {
	switch {
	case threshold < 2:
		return nil, errors.New("threshold must be at least 2")
	case parts < threshold:
		return nil, errors.New("parts cannot be less than threshold")
	case parts > 255:
		return nil, errors.New("parts cannot exceed 255")
	case len(secret) == 0:
		return nil, errors.New("cannot split an empty secret")
	}
	shares := make([][]byte, parts)
	for i := range shares {
		shares[i] = make([]byte, len(secret)+1)
		shares[i][len(secret)] = byte(i + 1)
	}
	coeffs := make([]byte, threshold-1)
	for j, s := range secret {
		if _, err := rand.Read(coeffs); err != nil {
			return nil, fmt.Errorf("reading random coefficients: %w", err)
		}
		for i := range shares {
			x := byte(i + 1)
			// Horner's rule: s + x*(c1 + x*(c2 + ...)).
			var y byte
			for k := len(coeffs) - 1; k >= 0; k-- {
				y = mul(y, x) ^ coeffs[k]
			}
			shares[i][j] = mul(y, x) ^ s
		}
	}
	clear(coeffs)
	for _, sh := range shares {
		secrethook.Saw(sh)
	}
	return shares, nil
}

// Combine recovers the secret from two or more shares by Lagrange
// interpolation at x = 0. Using more shares than the threshold is fine;
// using fewer gives a wrong secret, which the caller detects when the data
// key fails to decrypt the file.
func Combine(shares [][]byte) ([]byte, error) {
	if len(shares) < 2 {
		return nil, errors.New("at least two shares are needed")
	}
	n := len(shares[0])
	if n < 2 {
		return nil, errors.New("shares are too short")
	}
	xs := make([]byte, len(shares))
	seen := map[byte]bool{}
	for i, s := range shares {
		secrethook.Saw(s)
		if len(s) != n {
			return nil, errors.New("shares have different lengths")
		}
		x := s[n-1]
		if x == 0 || seen[x] {
			return nil, errors.New("shares have duplicate or zero x coordinates")
		}
		seen[x] = true
		xs[i] = x
	}
	secret := make([]byte, n-1)
	for i, s := range shares {
		// basis_i(0) = prod_{j != i} x_j / (x_j - x_i); minus is xor.
		basis := byte(1)
		for j := range shares {
			if i != j {
				basis = mul(basis, mul(xs[j], inv(xs[i]^xs[j])))
			}
		}
		for k := range secret {
			secret[k] ^= mul(s[k], basis)
		}
	}
	return secret, nil
}
