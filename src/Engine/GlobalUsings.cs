global using Dsoup.Kernels;
