module example.com/goarch

go 1.19
