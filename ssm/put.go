package ssm

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Parameter types, tiers and the limits that go with them.
const (
	TypeString       = "String"
	TypeStringList   = "StringList"
	TypeSecureString = "SecureString"

	TierStandard    = "Standard"
	TierAdvanced    = "Advanced"
	TierIntelligent = "Intelligent-Tiering"

	MaxStandardValue = 4096 // characters
	MaxAdvancedValue = 8192
	MaxVersions      = 100
	// DefaultKeyID is the key SSM seals SecureString values with when the
	// request names none (berth keeps it as a name: it has no KMS).
	DefaultKeyID = "alias/aws/ssm"

	DataTypeText  = "text"
	DataTypeImage = "aws:ec2:image"
)

var (
	keyIDChars = regexp.MustCompile(`^([a-zA-Z0-9:/_-]+)$`)
	imageID    = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	tagChars   = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
)

// CheckPut applies SSM's rules to a PutParameter request on their own (what
// does not depend on the stored parameter). arnPrefix is the text a
// parameter's ARN puts before its name.
func CheckPut(req *berthv1.PutParameterRequest, arnPrefix string) error {
	if err := CheckName("Name", req.GetName(), arnPrefix); err != nil {
		return err
	}
	switch req.GetType() {
	case "", TypeString, TypeStringList, TypeSecureString:
	default:
		return fail(apierr.InvalidArgument, UnsupportedParameterType,
			"Type: %q is not a parameter type: String, StringList or SecureString", req.GetType())
	}
	switch req.GetTier() {
	case "", TierStandard, TierAdvanced, TierIntelligent:
	default:
		return invalid("Tier", "must be Standard, Advanced or Intelligent-Tiering")
	}
	if len(req.GetDescription()) > 1024 {
		return invalid("Description", "must have length less than or equal to 1024")
	}
	if err := checkValue(req); err != nil {
		return err
	}
	if req.GetKeyId() != "" {
		if req.GetType() != TypeSecureString {
			return invalid("KeyId", "KeyId is required for SecureString type parameter only.")
		}
		if len(req.GetKeyId()) > 256 || !keyIDChars.MatchString(req.GetKeyId()) {
			return fail(apierr.InvalidArgument, InvalidKeyID, "KeyId: must be 1 to 256 of the characters a-zA-Z0-9:/_-")
		}
	}
	switch req.GetDataType() {
	case "", DataTypeText:
	case DataTypeImage:
		if req.GetType() != TypeString && req.GetType() != "" {
			return invalid("DataType", "aws:ec2:image is for String parameters only")
		}
		if !imageID.MatchString(req.GetValue()) {
			return invalid("Value", "a parameter of data type aws:ec2:image must hold an image id (ami- and 8 to 17 hexadecimal digits)")
		}
	default:
		return invalid("DataType", "The following data type is not supported: %s (supported: text, aws:ec2:image)", req.GetDataType())
	}
	if req.GetPolicies() != "" {
		return invalid("Policies", "berth does not run parameter policies (Expiration, ExpirationNotification, NoChangeNotification)")
	}
	if len(req.GetTags()) > 0 && req.GetOverwrite() {
		return invalid("Tags", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag.")
	}
	return checkTags(req.GetTags())
}

func checkValue(req *berthv1.PutParameterRequest) error {
	v := req.GetValue()
	n := utf8.RuneCountInString(v)
	switch {
	case v == "":
		return invalid("Value", "must have length greater than or equal to 1")
	case n > MaxAdvancedValue:
		return invalid("Value", "must have length less than or equal to %d (it has %d characters)", MaxAdvancedValue, n)
	case n > MaxStandardValue && req.GetTier() == TierStandard:
		return invalid("Value", "Standard tier parameters support a maximum parameter value of %d characters (it has %d). To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.", MaxStandardValue, n)
	}
	if req.GetType() == TypeStringList {
		for i, item := range strings.Split(v, ",") {
			if item == "" {
				return invalid("Value", "a StringList can't have an empty item (item %d of the comma-separated list is empty)", i+1)
			}
		}
	}
	if p := req.GetAllowedPattern(); p != "" {
		if len(p) > 1024 {
			return invalid("AllowedPattern", "must have length less than or equal to 1024")
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return fail(apierr.InvalidArgument, InvalidAllowedPatternException, "AllowedPattern: not a valid regular expression")
		}
		if !re.MatchString(v) || re.FindString(v) != v {
			return fail(apierr.InvalidArgument, ParameterPatternMismatchException,
				"Value: Parameter value, cannot be validated against allowedPattern: %s", p)
		}
	}
	return nil
}

func checkTags(tags []*berthv1.SSMTag) error {
	if len(tags) > 50 {
		return invalid("Tags", "at most 50 tags (%d given)", len(tags))
	}
	seen := map[string]bool{}
	for i, t := range tags {
		k, v := t.GetKey(), t.GetValue()
		switch {
		case len(k) < 1 || len(k) > 128 || !tagChars.MatchString(k):
			return invalid(tagField(i, "Key"), "must be 1 to 128 letters, digits, spaces or _ . : / = + - @")
		case len(v) > 256 || !tagChars.MatchString(v):
			return invalid(tagField(i, "Value"), "must be 0 to 256 letters, digits, spaces or _ . : / = + - @")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return invalid(tagField(i, "Key"), "the aws: prefix is reserved")
		case seen[k]:
			return invalid(tagField(i, "Key"), "duplicate tag key %q", k)
		}
		seen[k] = true
	}
	return nil
}

func tagField(i int, member string) string {
	return "Tags[" + itoa(i) + "]." + member
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// NextVersion is the version a put to old would create (old is nil for a
// new parameter).
func NextVersion(old *berthv1.ParameterRecord) int32 {
	if v := Latest(old); v != nil {
		return v.GetVersion() + 1
	}
	return 1
}

// Latest is a parameter's newest version (nil for nil).
func Latest(p *berthv1.ParameterRecord) *berthv1.ParameterVersionRecord {
	if vs := p.GetVersions(); len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return nil
}

// Put is a checked PutParameter with what the caller decided around it.
type Put struct {
	Req        *berthv1.PutParameterRequest
	Ciphertext []byte  // the value, sealed for the version NextVersion(old)
	At         float64 // seconds since the epoch
	User       string  // the caller's ARN (LastModifiedUser)
}

// ApplyPut is old (nil: none) after the put: a new parameter, or a new
// version of old. It refuses what SSM refuses given the stored parameter: an
// existing one without Overwrite, a change of type, a downgrade from the
// advanced tier, a 101st version while the oldest has a label.
func ApplyPut(old *berthv1.ParameterRecord, p Put) (*berthv1.ParameterRecord, error) {
	req := p.Req
	prev := Latest(old)
	if prev != nil && !req.GetOverwrite() {
		return nil, fail(apierr.AlreadyExists, ParameterAlreadyExists,
			"The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	v := &berthv1.ParameterVersionRecord{
		Version: NextVersion(old), Type: req.GetType(), Ciphertext: p.Ciphertext, KeyId: req.GetKeyId(),
		Description: req.GetDescription(), AllowedPattern: req.GetAllowedPattern(), DataType: req.GetDataType(),
		LastModifiedDate: p.At, LastModifiedUser: p.User,
	}
	if prev == nil && v.Type == "" {
		return nil, invalid("Type", "A parameter type is required when you create a parameter.")
	}
	if prev != nil {
		if v.Type == "" {
			v.Type = prev.GetType()
		}
		if v.Type != prev.GetType() {
			return nil, fail(apierr.InvalidArgument, HierarchyTypeMismatchException,
				"Type: Parameter Store can't change a parameter's type (%s to %s): create a new parameter", prev.GetType(), v.Type)
		}
		if v.Description == "" {
			v.Description = prev.GetDescription()
		}
		if v.KeyId == "" && v.Type == TypeSecureString {
			v.KeyId = prev.GetKeyId()
		}
		if v.DataType == "" {
			v.DataType = prev.GetDataType()
		}
	}
	if v.Type == TypeSecureString && v.KeyId == "" {
		v.KeyId = DefaultKeyID
	}
	if v.DataType == "" {
		v.DataType = DataTypeText
	}
	tier, err := decideTier(req, prev)
	if err != nil {
		return nil, err
	}
	v.Tier = tier

	next := &berthv1.ParameterRecord{Name: req.GetName(), Tags: req.GetTags()}
	if old != nil {
		next = proto.Clone(old).(*berthv1.ParameterRecord)
	}
	next.Versions = append(next.Versions, v)
	if len(next.Versions) > MaxVersions {
		oldest := next.Versions[0]
		if len(oldest.GetLabels()) > 0 {
			return nil, fail(apierr.FailedPrecondition, ParameterMaxVersionLimitExceeded,
				"You attempted to create a new version of %s by calling the PutParameter API with the overwrite flag. Version %d, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
				req.GetName(), oldest.GetVersion())
		}
		next.Versions = next.Versions[1:]
	}
	return next, nil
}

// decideTier: Intelligent-Tiering is Standard while the value fits it; an
// advanced parameter stays advanced, and may not be asked down to Standard.
func decideTier(req *berthv1.PutParameterRequest, prev *berthv1.ParameterVersionRecord) (string, error) {
	wasAdvanced := prev != nil && prev.GetTier() == TierAdvanced
	switch req.GetTier() {
	case TierAdvanced:
		return TierAdvanced, nil
	case TierStandard:
		if wasAdvanced {
			return "", invalid("Tier", "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.")
		}
		return TierStandard, nil
	}
	if wasAdvanced || utf8.RuneCountInString(req.GetValue()) > MaxStandardValue {
		if req.GetTier() == "" && !wasAdvanced {
			return "", invalid("Value", "Standard tier parameters support a maximum parameter value of %d characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.", MaxStandardValue)
		}
		return TierAdvanced, nil
	}
	return TierStandard, nil
}
