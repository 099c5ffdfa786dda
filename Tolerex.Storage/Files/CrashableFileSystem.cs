namespace Tolerex.Storage.Files;

/// <summary>
/// An in-memory file system that models what survives a power loss: file contents as of each file's last
/// Sync, and directory entries (creations, renames, deletions) as of the directory's last SyncDirectory.
/// <see cref="Crash"/> throws everything else away and breaks every open handle.
/// </summary>
/// <remarks>
/// A real crash also stops the process, but here the crashed instance keeps running. Without
/// <see cref="HaltOnCrash"/> its later directory operations (delete, rename, directory sync) still apply to the
/// recovered state, which no real crash allows: e.g. a compaction that has just renamed its output can go on
/// to delete its sources and make that durable while the rename was lost, a loss only this model produces.
/// </remarks>
public sealed class CrashableFileSystem : IStorageFileSystem
{
    private sealed class Content
    {
        public byte[] Current = [];
        public int Length;
        public byte[] Durable = [];
    }

    private readonly Lock _lock = new();
    private Dictionary<string, Content> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Content> _durableNames = new(StringComparer.Ordinal);
    private int _generation;
    private bool _halted;

    /// <summary>While set, creating a file fails (a full disk, or no file descriptors left); existing files still work.</summary>
    public bool FailCreate { get; set; }

    /// <summary>After <see cref="Crash"/>, every operation fails until <see cref="Restart"/>, as for a dead machine.</summary>
    public bool HaltOnCrash { get; init; }

    public int Syncs { get; private set; }

    /// <summary>Operations that change files or directories so far (creations, writes, syncs, resizes, renames, deletions).</summary>
    public int Changes { get; private set; }

    private int _crashAt = int.MaxValue;
    private readonly HashSet<string> _locked = new(StringComparer.Ordinal);

    /// <summary>
    /// Crashes (see <see cref="Crash"/>) just before the <paramref name="changes"/>-th change from now, which then
    /// fails with an <see cref="IOException"/>: sweeping it over every change of a scenario crashes it at every
    /// point where a real crash could land, reproducibly.
    /// </summary>
    public void CrashBefore(int changes)
    {
        lock (_lock)
            _crashAt = Changes + changes;
    }

    /// <summary>Counts a change, crashing first when <see cref="CrashBefore"/> said so. Called under the lock.</summary>
    private void Change()
    {
        ThrowIfHalted();
        if (++Changes < _crashAt)
            return;
        _crashAt = int.MaxValue;
        CrashLocked();
        throw new IOException("simulated crash");
    }

    public void Crash()
    {
        lock (_lock)
            CrashLocked();
    }

    private void CrashLocked()
    {
        _locked.Clear(); // the crashed process held them
        _generation++;
        _halted = HaltOnCrash;
        _names = new Dictionary<string, Content>(StringComparer.Ordinal);
        foreach (var (name, content) in _durableNames)
        {
            content.Current = (byte[])content.Durable.Clone();
            content.Length = content.Durable.Length;
            _names[name] = content;
        }
    }

    /// <summary>Powers the machine back on after a <see cref="Crash"/> with <see cref="HaltOnCrash"/>.</summary>
    public void Restart()
    {
        lock (_lock)
            _halted = false;
    }

    private void ThrowIfHalted()
    {
        if (_halted)
            throw new IOException("simulated crash: the machine is down");
    }

    public IStorageFile Open(string path)
    {
        lock (_lock)
        {
            ThrowIfHalted();
            if (!_names.TryGetValue(path, out var content))
            {
                if (FailCreate)
                    throw new IOException($"simulated: cannot create {path}");
                Change();
                _names[path] = content = new Content();
            }

            return new File(this, content, _generation);
        }
    }

    public bool Exists(string path)
    {
        lock (_lock)
        {
            ThrowIfHalted();
            return _names.ContainsKey(path);
        }
    }

    public IReadOnlyList<string> List(string directory, string suffix)
    {
        lock (_lock)
        {
            ThrowIfHalted();
            return [.. _names.Keys.Where(k => Path.GetDirectoryName(k) == directory && k.EndsWith(suffix, StringComparison.Ordinal)).Select(k => Path.GetFileName(k))];
        }
    }

    public void Delete(string path)
    {
        lock (_lock)
        {
            Change();
            _names.Remove(path);
        }
    }

    public void Move(string from, string to)
    {
        lock (_lock)
        {
            Change();
            // As File.Move does: a source that is gone (here: lost in a crash) is a FileNotFoundException.
            if (!_names.Remove(from, out var content))
                throw new FileNotFoundException("no such file to rename", from);
            _names[to] = content;
        }
    }

    public void CreateDirectory(string path)
    {
        lock (_lock)
            ThrowIfHalted();
    }

    public IDisposable Lock(string directory)
    {
        lock (_lock)
        {
            ThrowIfHalted();
            if (!_locked.Add(directory))
                throw new IOException($"{directory} is in use by another process");
            var generation = _generation;
            return new Release(() =>
            {
                lock (_lock)
                {
                    if (_generation == generation)
                        _locked.Remove(directory);
                }
            });
        }
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }

    public void SyncDirectory(string directory)
    {
        lock (_lock)
        {
            Change();
            foreach (var key in _durableNames.Keys.Where(k => Path.GetDirectoryName(k) == directory).ToList())
                _durableNames.Remove(key);
            foreach (var (name, content) in _names.Where(kv => Path.GetDirectoryName(kv.Key) == directory))
                _durableNames[name] = content;
        }
    }

    private sealed class File(CrashableFileSystem fs, Content content, int generation) : IStorageFile
    {
        public long Length
        {
            get
            {
                lock (fs._lock)
                    return Check().Length;
            }
        }

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            lock (fs._lock)
            {
                var c = Check();
                fs.Change();
                var end = (int)offset + data.Length;
                if (end > c.Current.Length)
                    Array.Resize(ref c.Current, Math.Max(end, c.Current.Length * 2));
                data.CopyTo(c.Current.AsSpan((int)offset));
                c.Length = Math.Max(c.Length, end);
            }
        }

        public int Read(Span<byte> buffer, long offset)
        {
            lock (fs._lock)
            {
                var c = Check();
                var n = (int)Math.Max(0, Math.Min(buffer.Length, c.Length - offset));
                c.Current.AsSpan((int)offset, n).CopyTo(buffer);
                return n;
            }
        }

        public ValueTask<int> ReadAsync(Memory<byte> buffer, long offset, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Read(buffer.Span, offset));

        public void Sync()
        {
            lock (fs._lock)
            {
                var c = Check();
                fs.Change();
                c.Durable = c.Current.AsSpan(0, c.Length).ToArray();
                fs.Syncs++;
            }
        }

        public void SetLength(long length)
        {
            lock (fs._lock)
            {
                var c = Check();
                fs.Change();
                if (length > c.Current.Length)
                    Array.Resize(ref c.Current, (int)length);
                c.Length = (int)length;
            }
        }

        public void Dispose()
        {
        }

        private Content Check()
        {
            fs.ThrowIfHalted();
            return fs._generation == generation ? content : throw new IOException("simulated crash: this handle is gone");
        }
    }
}
