package sandbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"hpsandbox/sandbox/tenant"
)

// OperatorUsername is the account made on first start.
const OperatorUsername = "operator"

// operatorPasswordFile holds a generated operator password in the data
// directory, readable by the owner only.
const operatorPasswordFile = "operator-password"

// ensureOperator makes the operator account when the registry has no
// operator: with cfg.OperatorPassword, or a generated password written to
// <data>/operator-password (never logged).
func ensureOperator(ctx context.Context, tenants *tenant.Service, cfg Config, log *slog.Logger) error {
	password := cfg.OperatorPassword
	file := ""
	if password == "" {
		password = rand.Text()
		file = filepath.Join(cfg.DataDir, operatorPasswordFile)
	}
	made, err := tenants.EnsureOperator(ctx, OperatorUsername, password)
	if err != nil {
		return err
	}
	if !made {
		// Say where the generated password is on every start while its
		// file is there, for the operator who comes back to it.
		if file != "" {
			if _, err := os.Stat(file); err == nil {
				log.Info("the operator's generated password is in the file named here (delete the file once the password is changed)",
					"username", OperatorUsername, "password_file", file)
			}
		}
		return nil
	}
	if file == "" {
		log.Info("operator account created with HPS_OPERATOR_PASSWORD", "username", OperatorUsername)
		return nil
	}
	if err := writeSecretFile(file, []byte(password+"\n"), true); err != nil {
		return fmt.Errorf("writing the operator password to %s: %w", file, err)
	}
	log.Info("operator account created; its password is in the file named here (change it in the portal)",
		"username", OperatorUsername, "password_file", file)
	return nil
}
