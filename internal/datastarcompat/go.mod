module github.com/sseview/sseview/internal/datastarcompat

go 1.26.0

replace github.com/sseview/sseview => ../..

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/sseview/sseview v0.0.0
	github.com/starfederation/datastar-go v1.2.2
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/CAFxX/httpcompression v0.0.9 // indirect
	github.com/ajg/form v1.5.1 // indirect
	github.com/andybalholm/brotli v1.2.0 // indirect
	github.com/go-chi/render v1.0.3 // indirect
	github.com/klauspost/compress v1.18.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
