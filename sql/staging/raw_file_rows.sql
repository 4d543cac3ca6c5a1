-- Records of the file just read.
select count(*) from raw_file
