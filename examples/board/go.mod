module github.com/sseview/sseview/examples/board

go 1.26.0

replace github.com/sseview/sseview => ../..

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/sseview/sseview v0.0.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/ajg/form v1.5.1 // indirect
	github.com/go-chi/render v1.0.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
