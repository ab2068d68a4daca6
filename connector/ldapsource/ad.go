package ldapsource

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// uacAccountDisable is userAccountControl's ACCOUNTDISABLE bit.
const uacAccountDisable = 0x2

// uacDisabled reports whether a userAccountControl value disables the
// account.
func uacDisabled(v string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n&uacAccountDisable != 0
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// binary are the attributes (lower-case) whose values are bytes, shown as
// base64 whatever they hold, as Entra cloud sync shows them: a GUID's or a
// SID's bytes may happen to be valid UTF-8, so the test for text alone
// would sometimes pass them through raw.
var binary = map[string]bool{
	"objectguid": true, "objectsid": true, "ms-ds-consistencyguid": true,
	"msexchmailboxguid": true, "msexcharchiveguid": true, "sidhistory": true,
	"msexchsafesendershash": true, "msexchsaferecipientshash": true, "msexchblockedsendershash": true,
	"thumbnailphoto": true, "jpegphoto": true, "usercertificate": true, "usersmimecertificate": true,
}
