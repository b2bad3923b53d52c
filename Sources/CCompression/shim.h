// Debian's compression libraries, for the Parquet codecs:
// libsnappy-dev, libzstd-dev, zlib1g-dev, liblz4-dev, libbrotli-dev.
#include <snappy-c.h>
#include <zstd.h>
#include <zlib.h>
#include <lz4.h>
#include <brotli/decode.h>
