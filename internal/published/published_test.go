package published_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/motoserver"
	"github.com/outside-in/outside-in/internal/published"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Run(m)) }

func TestParameterName(t *testing.T) {
	assert.Equal(t, "/outside-in-platform/environments", published.ParameterName("outside-in", "organization/outside-in/platform"))
	assert.Equal(t, "/shop-edge-eu/environments", published.ParameterName("outside-in", "acme/shop/edge.eu"), "the qualified name's project; characters SSM refuses become dashes")
	assert.Equal(t, "/outside-in-platform/environments", published.ParameterName("outside-in", "platform"), "a bare stack takes the project given")
}

// The document keeps the keys environments and check read, and nothing else of the platform's
// outputs (its admin kubeconfig above all).
func TestDocumentKeepsOnlyWhatEnvironmentsRead(t *testing.T) {
	text, err := published.Document(map[string]any{
		"envDomain": "env.example.com", "environmentKubeconfig": "env-kc", "kubeconfig": "admin-kc",
		"controllerPodLabels": map[string]any{"app": "traefik"}, "vpcId": "vpc-1",
	})
	require.NoError(t, err)
	doc, err := published.Parse(text)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"envDomain": "env.example.com", "environmentKubeconfig": "env-kc",
		"controllerPodLabels": map[string]any{"app": "traefik"}}, doc)
	_, err = published.Parse("not json")
	assert.ErrorContains(t, err, "not a JSON object")
}

// The reader against Parameter Store (moto): a SecureString under a customer-managed key is
// read back decrypted; a platform that published nothing is ErrNotPublished, which the
// lifecycle takes as a platform gone; without a region it says which variable to set.
func TestSSMReadsTheDocument(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.Start(t, "eu-central-1")
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("published")})
	require.NoError(t, err)
	value, err := published.Document(map[string]any{"envDomain": "env.example.com", "environmentKubeconfig": "apiVersion: v1"})
	require.NoError(t, err)
	_, err = ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/outside-in-platform/environments"), Type: ssmtypes.ParameterTypeSecureString,
		KeyId: key.KeyMetadata.Arn, Value: aws.String(value),
	})
	require.NoError(t, err)

	reader := published.SSM{AWS: &cfg}
	doc, err := reader.Read(ctx, "organization/outside-in/platform")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"envDomain": "env.example.com", "environmentKubeconfig": "apiVersion: v1"}, doc)

	_, err = reader.Read(ctx, "organization/outside-in/platform-b")
	assert.True(t, errors.Is(err, published.ErrNotPublished), "%v", err)
	assert.ErrorContains(t, err, "/outside-in-platform-b/environments")

	noRegion := cfg.Copy()
	noRegion.Region = ""
	_, err = published.SSM{AWS: &noRegion}.Read(ctx, "organization/outside-in/platform")
	assert.ErrorContains(t, err, "set AWS_REGION")
}
