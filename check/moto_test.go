package check_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/outside-in/outside-in/internal/motoserver"
)

// startMoto returns an AWS configuration pointed at the binary's moto server (its account is
// moto's default, 123456789012), starting it first.
func startMoto(t *testing.T, region string) aws.Config { return motoserver.Start(t, region) }

func stopMoto() { motoserver.Stop() }
