package interaction

// BesideAnotherTransaction makes transactions run as they do beside
// another Bundle (validating before they take the writer) until restore.
func BesideAnotherTransaction() (restore func()) {
	bundlesRunning.Add(1)
	return func() { bundlesRunning.Add(-1) }
}

// VouchedResource is vouchedResource, for the package's tests.
var VouchedResource = vouchedResource
