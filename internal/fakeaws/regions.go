package fakeaws

import "fmt"

// Canonical hosted zone ids of Elastic Load Balancing, per region (AWS general reference). ALB
// and classic ELB share one; NLB has its own. The fake refuses regions it has no ids for.
var lbZones = map[string]struct{ alb, nlb string }{
	"us-east-1":    {"Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"},
	"us-east-2":    {"Z3AADJGX6KTTL2", "ZLMOA37VPKANP"},
	"us-west-2":    {"Z1H1FL5HABSF5", "Z18D5FSROUN65G"},
	"eu-west-1":    {"Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"},
	"eu-central-1": {"Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"},
}

func canonicalZone(region, kind string) (string, error) {
	z, ok := lbZones[region]
	if !ok {
		return "", fmt.Errorf("no load balancer hosted zone id known for region %s", region)
	}
	if kind == "nlb" {
		return z.nlb, nil
	}
	return z.alb, nil
}

// azs are each region's availability zones and zone ids. us-east-1's use1-az3 is one where EKS
// places no control plane, so the program must skip it.
var azs = map[string][][2]string{
	"us-east-1":    {{"us-east-1a", "use1-az1"}, {"us-east-1b", "use1-az2"}, {"us-east-1c", "use1-az3"}, {"us-east-1d", "use1-az4"}, {"us-east-1e", "use1-az6"}, {"us-east-1f", "use1-az5"}},
	"us-east-2":    {{"us-east-2a", "use2-az1"}, {"us-east-2b", "use2-az2"}, {"us-east-2c", "use2-az3"}},
	"us-west-2":    {{"us-west-2a", "usw2-az1"}, {"us-west-2b", "usw2-az2"}, {"us-west-2c", "usw2-az3"}, {"us-west-2d", "usw2-az4"}},
	"eu-west-1":    {{"eu-west-1a", "euw1-az1"}, {"eu-west-1b", "euw1-az2"}, {"eu-west-1c", "euw1-az3"}},
	"eu-central-1": {{"eu-central-1a", "euc1-az2"}, {"eu-central-1b", "euc1-az3"}, {"eu-central-1c", "euc1-az1"}},
}
