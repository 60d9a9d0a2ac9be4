{
  "targets": [
    {
      "target_name": "crc32c",
      "sources": ["src/crc32c/crc32c.c"],
      "cflags": ["-O2"]
    },
    {
      "target_name": "cached_read",
      "sources": ["src/volume/cached-read.c"],
      "cflags": ["-O2"]
    }
  ]
}
