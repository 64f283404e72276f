using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Platform.Microbench -- [--filter *] [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Platform.Microbench.HotPathBenchmarks).Assembly).Run(args);
