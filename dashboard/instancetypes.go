package dashboard

// InstanceType is a size of hollow instance the "add instance" control
// offers: CPU units and MiB registered, as the EC2 type of that name has.
type InstanceType struct {
	Name   string `json:"name"`
	CPU    int    `json:"cpu"`
	Memory int    `json:"memory"`
}

// instanceTypes are small EC2 types with different CPU:memory ratios, so a
// class sees multi-resource packing matter.
var instanceTypes = []InstanceType{
	{"t3.small", 2048, 2048},
	{"c5.large", 2048, 4096},
	{"m5.large", 2048, 8192},
	{"r5.large", 2048, 16384},
	{"m5.xlarge", 4096, 16384},
}

// InstanceTypes lists the sizes the "add instance" control offers.
func InstanceTypes() []InstanceType { return append([]InstanceType(nil), instanceTypes...) }

// InstanceTypeNamed is the offered size of that name.
func InstanceTypeNamed(name string) (InstanceType, bool) {
	for _, t := range instanceTypes {
		if t.Name == name {
			return t, true
		}
	}
	return InstanceType{}, false
}

func instanceTypeNames() []string {
	out := make([]string, len(instanceTypes))
	for i, t := range instanceTypes {
		out[i] = t.Name
	}
	return out
}
