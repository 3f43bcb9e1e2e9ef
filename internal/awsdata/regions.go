// Package awsdata holds static facts about AWS that the program validates against and the fake
// AWS answers with: the commercial regions where EKS runs, with their availability zone ids and
// load balancer hosted zones, and the EC2 instance types in current use. Each table names its
// source and the date it was read.
//
// Caveats by region are in the comments beside each entry.
package awsdata

// Region is one AWS commercial region where Amazon EKS runs.
type Region struct {
	Name      string   // "eu-central-1"
	OptIn     bool     // an opt-in region (af-south-1, ap-east-1, me-south-1, eu-south-1, ...)
	AZIDs     []string // the region's AZ IDs in order, e.g. euc1-az1, euc1-az2, euc1-az3
	ALBZoneID string   // canonical hosted zone id of ALB and classic ELB
	NLBZoneID string   // canonical hosted zone id of NLB
}

// Source says where the data came from and when it was read.
const Source = "AWS Regions and Availability Zones guide (docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html " +
	"for opt-in status, .../aws-availability-zones.html for AZ IDs); AWS General Reference 'Amazon EKS endpoints and quotas' " +
	"(docs.aws.amazon.com/general/latest/gr/eks.html) for EKS availability; hashicorp/terraform-provider-aws " +
	"internal/service/elb/hosted_zone_id_data_source.go and internal/service/elbv2/hosted_zone_id_data_source.go " +
	"(mirroring docs.aws.amazon.com/general/latest/gr/elb.html) for hosted zone IDs, with ap-east-2 and ap-southeast-6 " +
	"taken from three public repositories that agree (not in the terraform snapshot read); EKS user guide " +
	"'View Amazon EKS networking requirements for VPC and subnets' (awsdocs/amazon-eks-user-guide network-reqs.adoc) " +
	"for disallowed AZ IDs. Read from stored copies on 2026-11-29."

// EKSUnsupportedAZIDs are AZ IDs where EKS cannot place the control plane
// (cluster subnets there fail with UnsupportedAvailabilityZoneException).
var EKSUnsupportedAZIDs = []string{
	"use1-az3", // us-east-1
	"usw1-az2", // us-west-1
	"cac1-az3", // ca-central-1
}

// Regions lists every aws-partition region where EKS is available, sorted by name.
var Regions = []Region{
	{Name: "af-south-1", OptIn: true, AZIDs: []string{"afs1-az1", "afs1-az2", "afs1-az3"}, ALBZoneID: "Z268VQBMOI5EKX", NLBZoneID: "Z203XCE67M25HM"},
	{Name: "ap-east-1", OptIn: true, AZIDs: []string{"ape1-az1", "ape1-az2", "ape1-az3"}, ALBZoneID: "Z3DQVH9N71FHZ0", NLBZoneID: "Z12Y7K3UBGUAD1"},
	// ap-east-2 hosted zone IDs: not in the terraform snapshot; three public repos agree (see regions.md).
	{Name: "ap-east-2", OptIn: true, AZIDs: []string{"ape2-az1", "ape2-az2", "ape2-az3"}, ALBZoneID: "Z02789141MW7T1WBU19PO", NLBZoneID: "Z09176273OC2HWIAUNYW"},
	{Name: "ap-northeast-1", OptIn: false, AZIDs: []string{"apne1-az1", "apne1-az2", "apne1-az3", "apne1-az4"}, ALBZoneID: "Z14GRHDCWA56QT", NLBZoneID: "Z31USIVHYNEOWT"},
	{Name: "ap-northeast-2", OptIn: false, AZIDs: []string{"apne2-az1", "apne2-az2", "apne2-az3", "apne2-az4"}, ALBZoneID: "ZWKZPGTI48KDX", NLBZoneID: "ZIBE1TIR4HY56"},
	{Name: "ap-northeast-3", OptIn: false, AZIDs: []string{"apne3-az1", "apne3-az2", "apne3-az3"}, ALBZoneID: "Z5LXEXXYW11ES", NLBZoneID: "Z1GWIQ4HH19I5X"},
	{Name: "ap-south-1", OptIn: false, AZIDs: []string{"aps1-az1", "aps1-az2", "aps1-az3"}, ALBZoneID: "ZP97RAFLXTNZK", NLBZoneID: "ZVDDRBQ08TROA"},
	{Name: "ap-south-2", OptIn: true, AZIDs: []string{"aps2-az1", "aps2-az2", "aps2-az3"}, ALBZoneID: "Z0173938T07WNTVAEPZN", NLBZoneID: "Z0711778386UTO08407HT"},
	{Name: "ap-southeast-1", OptIn: false, AZIDs: []string{"apse1-az1", "apse1-az2", "apse1-az3"}, ALBZoneID: "Z1LMS91P8CMLE5", NLBZoneID: "ZKVM4W9LS7TM"},
	{Name: "ap-southeast-2", OptIn: false, AZIDs: []string{"apse2-az1", "apse2-az2", "apse2-az3"}, ALBZoneID: "Z1GM3OXH4ZPM65", NLBZoneID: "ZCT6FZBF4DROD"},
	{Name: "ap-southeast-3", OptIn: true, AZIDs: []string{"apse3-az1", "apse3-az2", "apse3-az3"}, ALBZoneID: "Z08888821HLRG5A9ZRTER", NLBZoneID: "Z01971771FYVNCOVWJU1G"},
	{Name: "ap-southeast-4", OptIn: true, AZIDs: []string{"apse4-az1", "apse4-az2", "apse4-az3"}, ALBZoneID: "Z09517862IB2WZLPXG76F", NLBZoneID: "Z01156963G8MIIL7X90IV"},
	{Name: "ap-southeast-5", OptIn: true, AZIDs: []string{"apse5-az1", "apse5-az2", "apse5-az3"}, ALBZoneID: "Z06010284QMVVW7WO5J", NLBZoneID: "Z026317210H9ACVTRO6FB"},
	// ap-southeast-6 hosted zone IDs: not in the terraform snapshot; three public repos agree (see regions.md).
	{Name: "ap-southeast-6", OptIn: true, AZIDs: []string{"apse6-az1", "apse6-az2", "apse6-az3"}, ALBZoneID: "Z023301818UFJ50CIO0MV", NLBZoneID: "Z01392953RKV2Q3RBP0KU"},
	{Name: "ap-southeast-7", OptIn: true, AZIDs: []string{"apse7-az1", "apse7-az2", "apse7-az3"}, ALBZoneID: "Z0390008CMBRTHFGWBCB", NLBZoneID: "Z054363131YWATEMWRG5L"},
	// ca-central-1: the AZ guide lists cac1-az1, cac1-az2 and cac1-az4; cac1-az3 exists only in older accounts.
	{Name: "ca-central-1", OptIn: false, AZIDs: []string{"cac1-az1", "cac1-az2", "cac1-az4"}, ALBZoneID: "ZQSVJUPU6J1EY", NLBZoneID: "Z2EPGBW3API2WT"},
	{Name: "ca-west-1", OptIn: true, AZIDs: []string{"caw1-az1", "caw1-az2", "caw1-az3"}, ALBZoneID: "Z06473681N0SF6OS049SD", NLBZoneID: "Z02754302KBB00W2LKWZ9"},
	{Name: "eu-central-1", OptIn: false, AZIDs: []string{"euc1-az1", "euc1-az2", "euc1-az3"}, ALBZoneID: "Z215JYRZR1TBD5", NLBZoneID: "Z3F0SRJ5LGBH90"},
	{Name: "eu-central-2", OptIn: true, AZIDs: []string{"euc2-az1", "euc2-az2", "euc2-az3"}, ALBZoneID: "Z06391101F2ZOEP8P5EB3", NLBZoneID: "Z02239872DOALSIDCX66S"},
	{Name: "eu-north-1", OptIn: false, AZIDs: []string{"eun1-az1", "eun1-az2", "eun1-az3"}, ALBZoneID: "Z23TAZ6LKFMNIO", NLBZoneID: "Z1UDT6IFJ4EJM"},
	{Name: "eu-south-1", OptIn: true, AZIDs: []string{"eus1-az1", "eus1-az2", "eus1-az3"}, ALBZoneID: "Z3ULH7SSC9OV64", NLBZoneID: "Z23146JA1KNAFP"},
	{Name: "eu-south-2", OptIn: true, AZIDs: []string{"eus2-az1", "eus2-az2", "eus2-az3"}, ALBZoneID: "Z0956581394HF5D5LXGAP", NLBZoneID: "Z1011216NVTVYADP1SSV"},
	{Name: "eu-west-1", OptIn: false, AZIDs: []string{"euw1-az1", "euw1-az2", "euw1-az3"}, ALBZoneID: "Z32O12XQLNTSW2", NLBZoneID: "Z2IFOLAFXWLO4F"},
	// eu-west-2: euw2-az4 is a newly launched AZ (the AZ guide lists it; the region table still says 3 AZs).
	{Name: "eu-west-2", OptIn: false, AZIDs: []string{"euw2-az1", "euw2-az2", "euw2-az3", "euw2-az4"}, ALBZoneID: "ZHURV8PSTC4K8", NLBZoneID: "ZD4D7Y8KGAS4G"},
	{Name: "eu-west-3", OptIn: false, AZIDs: []string{"euw3-az1", "euw3-az2", "euw3-az3"}, ALBZoneID: "Z3Q77PNBQS71R4", NLBZoneID: "Z1CMS0P5QUZ6D5"},
	{Name: "il-central-1", OptIn: true, AZIDs: []string{"ilc1-az1", "ilc1-az2", "ilc1-az3"}, ALBZoneID: "Z09170902867EHPV2DABU", NLBZoneID: "Z0313266YDI6ZRHTGQY4"},
	{Name: "me-central-1", OptIn: true, AZIDs: []string{"mec1-az1", "mec1-az2", "mec1-az3"}, ALBZoneID: "Z08230872XQRWHG2XF6I", NLBZoneID: "Z00282643NTTLPANJJG2P"},
	{Name: "me-south-1", OptIn: true, AZIDs: []string{"mes1-az1", "mes1-az2", "mes1-az3"}, ALBZoneID: "ZS929ML54UICD", NLBZoneID: "Z3QSRYVP46NYYV"},
	{Name: "mx-central-1", OptIn: true, AZIDs: []string{"mxc1-az1", "mxc1-az2", "mxc1-az3"}, ALBZoneID: "Z023552324OKD1BB28BH5", NLBZoneID: "Z02031231H3ID6HYJ9A7U"},
	{Name: "sa-east-1", OptIn: false, AZIDs: []string{"sae1-az1", "sae1-az2", "sae1-az3"}, ALBZoneID: "Z2P70J7HTTTPLU", NLBZoneID: "ZTK26PT1VY4CU"},
	{Name: "us-east-1", OptIn: false, AZIDs: []string{"use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"}, ALBZoneID: "Z35SXDOTRQ7X7K", NLBZoneID: "Z26RNL4JYFTOTI"},
	{Name: "us-east-2", OptIn: false, AZIDs: []string{"use2-az1", "use2-az2", "use2-az3"}, ALBZoneID: "Z3AADJGX6KTTL2", NLBZoneID: "ZLMOA37VPKANP"},
	// us-west-1: three AZ IDs exist, but newer accounts can access only two.
	{Name: "us-west-1", OptIn: false, AZIDs: []string{"usw1-az1", "usw1-az2", "usw1-az3"}, ALBZoneID: "Z368ELLRRE2KJ0", NLBZoneID: "Z24FKFUX50B4VW"},
	{Name: "us-west-2", OptIn: false, AZIDs: []string{"usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"}, ALBZoneID: "Z1H1FL5HABSF5", NLBZoneID: "Z18D5FSROUN65G"},
}

// RegionNamed finds a region by name.
func RegionNamed(name string) (Region, bool) {
	for _, r := range Regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// RegionNames are the names of Regions, sorted.
func RegionNames() []string {
	out := make([]string, len(Regions))
	for i, r := range Regions {
		out[i] = r.Name
	}
	return out
}
