module github.com/gantry-go/gantry

go 1.26
