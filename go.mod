module github.com/scalesocket/scalesocket-go

go 1.26

require (
	github.com/coder/websocket v1.8.15
	github.com/lxzan/gws v1.8.9
	github.com/spf13/pflag v1.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
)
