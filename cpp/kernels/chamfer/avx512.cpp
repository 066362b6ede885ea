// ISA kernels: filled in by the similarity work.
