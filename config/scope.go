package config

import "errors"

// Scope keeps, of err as Load or Validate returns it, the problems of the
// keys inScope accepts, so that a command needing only part of the
// configuration (the operators' Kafka commands on a laptop without the Zoho
// secrets) runs while the rest is incomplete. It returns nil when no
// problem is in scope (or err is nil), the problems in scope joined
// (errors.Join of their *FieldError, in order) otherwise, and err itself when
// it holds no *FieldError (a file that cannot be read or parsed).
func Scope(err error, inScope func(key string) bool) error {
	fes := FieldErrors(err)
	if len(fes) == 0 {
		return err
	}
	var kept []error
	for _, fe := range fes {
		if inScope(fe.Key) {
			kept = append(kept, fe)
		}
	}
	return errors.Join(kept...)
}
