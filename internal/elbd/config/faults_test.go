package config

import (
	"strings"
	"testing"
	"time"
)

// F6: the faults: section is checked like every other, each problem named with what to set.
func TestFaultsSection(t *testing.T) {
	const creds = "credentials:\n  - {accessKey: AK1, secretKey: SK1, projectID: p1}\n"
	c, err := Parse([]byte(creds))
	if err != nil || c.Faults != nil {
		t.Fatalf("without a faults: section: %+v %v; want no injector", c.Faults, err)
	}
	c, err = Parse([]byte(creds + "faults: {seed: 3, busy: 0.1, lostResponse: 0.2, timeoutHold: 2s, accessKeys: [AK1]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Faults; f.Seed != 3 || f.Busy != 0.1 || f.LostResponse != 0.2 || f.Hold() != 2*time.Second {
		t.Errorf("parsed %+v (hold %s)", f, f.Hold())
	}
	if (Faults{}).Hold() != DefaultTimeoutHold {
		t.Errorf("default hold %s, want %s", (Faults{}).Hold(), DefaultTimeoutHold)
	}
	_, err = Parse([]byte(creds + "faults: {busy: 1.5, throttle: -0.1, serverError: 0.6, timeout: 0.5, timeoutHold: soon, accessKeys: [AK9]}\n"))
	for _, want := range []string{
		"faults.busy is 1.5; set a fraction of calls from 0 to 1",
		"faults.throttle is -0.1",
		"faults: the fractions add up to 1.1",
		`faults.timeoutHold "soon" is not a positive duration`,
		`faults.accessKeys[0] "AK9" is not an access key of credentials`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
