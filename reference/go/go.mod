module schedlab/reference

go 1.19
