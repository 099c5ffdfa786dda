using SharpFuzz;
using Tolerex.Fuzz;

// tolerex-fuzz                 run under afl-fuzz (see fuzz/run.sh)
// tolerex-fuzz replay <dir>…   run every file in the directories once (the corpus as a regression test)
if (args is ["replay", .. var directories])
{
    var files = directories.SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal).ToList();
    foreach (var file in files)
        HaToKuSeTarget.Run(File.ReadAllBytes(file));
    Console.WriteLine($"{files.Count} inputs replayed, no findings");
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    HaToKuSeTarget.Run(copy.GetBuffer().AsSpan(0, (int)copy.Length));
});
return 0;
