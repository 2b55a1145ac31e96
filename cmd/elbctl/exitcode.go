package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Exit codes, the one definition: elbctl --help lists them (exitCodesHelp) and the README too
// (TestREADMEListsExitCodes checks it lists these).
const (
	exitOK          = 0 // done
	exitAPI         = 1 // the ELB API refused the call (HTTP 4xx other than below, or 5xx)
	exitUsage       = 2 // bad or missing flags, arguments or settings: nothing was sent
	exitNotFound    = 3 // what was named does not exist (HTTP 404, or no listener on that port)
	exitAuth        = 4 // the API refused the credentials or the project (HTTP 401, 403)
	exitUnreachable = 5 // the API could not be reached or did not answer in time
)

var exitCodes = []struct {
	code int
	what string
}{
	{exitOK, "success"},
	{exitAPI, "the ELB API refused the call (HTTP 4xx other than 401/403/404, or 5xx)"},
	{exitUsage, "bad or missing flags, arguments or settings; nothing was sent"},
	{exitNotFound, "not found (HTTP 404, or no listener on that port)"},
	{exitAuth, "credentials or project refused (HTTP 401, 403)"},
	{exitUnreachable, "the API could not be reached or did not answer in time"},
}

// exitCodesHelp is the "Exit codes" section of elbctl --help.
func exitCodesHelp() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, c := range exitCodes {
		fmt.Fprintf(&b, "  %d  %s\n", c.code, c.what)
	}
	return b.String()
}

// codedError is an error elbctl itself finds, with its exit code.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return codedError{exitUsage, fmt.Errorf(format, a...)}
}

func notFoundErrorf(format string, a ...any) error {
	return codedError{exitNotFound, fmt.Errorf(format, a...)}
}

// exitCode is the exit code of a failed command. Errors elbctl finds before calling the API
// (flag, argument and setting checks, cobra's own) are usage errors.
func exitCode(err error) int {
	var ce codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case 404:
			return exitNotFound
		case 401, 403:
			return exitAuth
		}
		return exitAPI
	}
	var conn *sdkerr.ConnectionError
	var timeout *sdkerr.RequestTimeoutError
	var ue *url.Error
	if errors.As(err, &conn) || errors.As(err, &timeout) || errors.As(err, &ue) {
		return exitUnreachable
	}
	return exitUsage
}
