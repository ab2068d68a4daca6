package graphapi

import (
	_ "embed"
	"net/http"
)

// metadataXML is the service's CSDL document, the target of every
// @odata.context. It is public, as Graph's $metadata is.
//
//go:embed metadata.xml
var metadataXML []byte

func serveMetadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("OData-Version", "4.0")
	_, _ = w.Write(metadataXML)
}
