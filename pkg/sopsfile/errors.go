package sopsfile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Code is a process exit status. kura uses the numbers sops uses, so that
// scripts written for sops keep working; docs/exit-codes.md lists them.
type Code int

// Exit codes, as numbered by sops.
const (
	CodeGeneric                Code = 1
	CodeCouldNotReadInput      Code = 2
	CodeCouldNotWriteOutput    Code = 3
	CodeErrorDumpingTree       Code = 4
	CodeErrorReadingConfig     Code = 5
	CodeInvalidEncryptionCtx   Code = 6
	CodeInvalidSetFormat       Code = 7
	CodeConflictingParameters  Code = 8
	CodeErrorEncryptingMAC     Code = 21
	CodeErrorEncryptingTree    Code = 23
	CodeErrorDecryptingMAC     Code = 24
	CodeErrorDecryptingTree    Code = 25
	CodeCannotChangeKeys       Code = 49
	CodeMACMismatch            Code = 51
	CodeMACNotFound            Code = 52
	CodeConfigFileNotFound     Code = 61
	CodeKeyboardInterrupt      Code = 85
	CodeInvalidTreePath        Code = 91
	CodeNeedAtLeastOneDocument Code = 92
	CodeNoFileSpecified        Code = 100
	CodeNoEncryptionKeyFound   Code = 111
	CodeDuplicateDecryptionKey Code = 112
	CodeCouldNotRetrieveKey    Code = 128
	CodeFileHasNotBeenModified Code = 200
	CodeNoEditorFound          Code = 201
	CodeFailedToCompareVersion Code = 202
	CodeFileAlreadyEncrypted   Code = 203
)

// Error is a failure with its exit code and, when it concerns one value,
// the key path of that value. Messages never hold a value's content.
type Error struct {
	Code Code
	// Path is the value's key path in --extract syntax, such as
	// ["db"]["hosts"][0], or empty.
	Path string
	Err  error
	// Hint is an optional suggestion for the user, printed on its own line.
	Hint string
}

func (e *Error) Error() string {
	if e.Path != "" {
		return e.Path + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Wrap returns err as an *Error with the given code, unless it already is
// one.
func Wrap(code Code, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: code, Err: err}
}

// CodeOf returns the exit code for err: its own if it is an *Error, 1
// otherwise.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeGeneric
}

// HintOf returns the hint attached to err, if any.
func HintOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// pathElem is one step of a key path: a key, or an index in a list.
type pathElem struct {
	key   string
	index int // -1 for a key
}

// formatPath writes a path in the syntax --extract accepts.
func formatPath(p []pathElem) string {
	var b strings.Builder
	for _, e := range p {
		if e.index >= 0 {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		} else {
			b.WriteString("[" + strconv.Quote(e.key) + "]")
		}
	}
	return b.String()
}
