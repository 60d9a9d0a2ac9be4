{
  "targets": [
    {
      "target_name": "crc32c",
      "sources": ["src/crc32c/crc32c.c"],
      "cflags": ["-O2"]
    },
    {
      "target_name": "fileio",
      "sources": ["src/fileio/fileio.c"],
      "cflags": ["-O2"]
    }
  ]
}
