package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// maxConnectorSettings bounds one connector's settings of a sandbox.
const maxConnectorSettings = 256 << 10

// connectorSettingsMu serialises the read-modify-write of connectors'
// settings in this process; the settings of one sandbox are one row.
var connectorSettingsMu sync.Mutex

// ConnectorSettings returns the settings connector keeps for sandbox (nil
// when it keeps none): the gateway's connectors.SettingsStore. The
// connector authorised its caller; the sandbox must exist.
func (s *Service) ConnectorSettings(ctx context.Context, sandbox, connector string) ([]byte, error) {
	sb, err := s.reg.Sandbox(ctx, sandbox)
	if err != nil {
		return nil, err
	}
	return sb.Settings.Connectors[connector], nil
}

// SetConnectorSettings replaces the settings connector keeps for sandbox
// with settings, a JSON value, leaving the sandbox's other settings as
// they are.
func (s *Service) SetConnectorSettings(ctx context.Context, sandbox, connector string, settings []byte) error {
	if !json.Valid(settings) || len(settings) > maxConnectorSettings {
		return invalid("settings.connectors."+connector, "not a JSON value of at most %d bytes", maxConnectorSettings)
	}
	connectorSettingsMu.Lock()
	defer connectorSettingsMu.Unlock()
	sb, err := s.reg.Sandbox(ctx, sandbox)
	if err != nil {
		return err
	}
	if sb.Settings.Connectors == nil {
		sb.Settings.Connectors = map[string]json.RawMessage{}
	}
	sb.Settings.Connectors[connector] = json.RawMessage(append([]byte(nil), settings...))
	if err := s.reg.UpdateSandbox(ctx, sb); err != nil {
		return fmt.Errorf("tenant: settings of connector %s: %w", connector, err)
	}
	return nil
}
