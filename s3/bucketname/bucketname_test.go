package bucketname

import "testing"

func TestValidate(t *testing.T) {
	for name, ok := range map[string]bool{
		"photos": true, "a.b.c": true, "my-bucket-1": true, "abc": true, "123": true,
		"ab": false, "Photos": false, "my_bucket": false, "-abc": false, "abc-": false, "a..b": false, "a.-b": false,
		"192.168.5.4": false, "192.168.5.4.5": true, "xn--abc": false, "sthree-x": false, "amzn-s3-demo-x": false,
		"b-s3alias": false, "b--ol-s3": false, "b.mrap": false, "b--x-s3": false, "b--table-s3": false,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":  true,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": false,
	} {
		if err := Validate(name); (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", name, err, ok)
		}
	}
}
