module example.com/bench/gosvc

go 1.19
