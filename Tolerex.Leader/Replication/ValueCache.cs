using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Tolerex.Leader.Replication;

/// <summary>
/// The leader's memory of recently written values, so a GET of one is answered without asking a member. An
/// entry is a value at one version: a GET uses it only when the index names exactly that version, so a newer
/// SET, a DEL or another leader's writes can never make it answer stale data (a version is never reused).
/// 0 bytes keeps nothing. Durability is unchanged: a value is cached only once acknowledged, or as read from a
/// member.
/// </summary>
/// <remarks>
/// The values live in one ring of <c>ValueCacheBytes</c> (each after a 12-byte header), and the table from id to
/// place holds structs: nothing per entry is an object, so the garbage collector never traces, promotes or
/// collects cached values. (Kept as objects, every acknowledged value survived young collections into the old
/// generation and died there when evicted: at 50,000 SETs a second that cost the leader a third of its SET
/// throughput.) New values go in at the head; the oldest are dropped at the tail as the head needs their room;
/// a value read while among the oldest quarter is copied to the head, so values being read stay. A GET gets a
/// copy of the value, taken under the lock, so a later write over the ring never changes what it answers.
/// </remarks>
internal sealed class ValueCache
{
    /// <summary>Ring bytes per entry on top of its value: the header (id, length).</summary>
    internal const int EntryOverhead = sizeof(long) + sizeof(int);

    private const int SkipToStart = -1; // a header at the end of the ring whose record would not fit there

    private struct Slot
    {
        public long Position; // where its record starts, counted from the ring's first byte ever written
        public long Version;
        public int Length;
    }

    private readonly byte[] _ring;
    private readonly int _capacity;
    private readonly Dictionary<long, Slot> _slots = [];
    private readonly Lock _lock = new();
    private long _head; // next record goes here
    private long _tail; // oldest record (or skipped space) starts here
    private long _bytes;
    private int _count;

    public ValueCache(long capacityBytes)
    {
        _capacity = (int)Math.Clamp(capacityBytes, 0, Array.MaxLength);
        _ring = _capacity > 0 ? GC.AllocateUninitializedArray<byte>(_capacity) : [];
    }

    /// <summary>Values and their headers held now (what GETs can be answered from).</summary>
    public long Bytes => Volatile.Read(ref _bytes);
    public int Count => Volatile.Read(ref _count);
    public bool Enabled => _capacity > 0;

    /// <summary>Keeps <paramref name="value"/> as <paramref name="id"/> at <paramref name="version"/>, unless a newer version is kept already.</summary>
    public void Put(long id, long version, ByteString value)
    {
        if (!Fits(value.Length))
            return;
        lock (_lock)
        {
            if (_slots.TryGetValue(id, out var current) && current.Version >= version)
                return;
            Append(id, version, value.Span);
        }
    }

    /// <summary>A copy of the value of <paramref name="id"/> at exactly <paramref name="version"/>, if kept.</summary>
    public bool TryGet(long id, long version, out ByteString value)
    {
        value = ByteString.Empty;
        if (!Enabled)
            return false;
        lock (_lock)
        {
            if (!_slots.TryGetValue(id, out var slot) || slot.Version != version)
                return false;
            var copy = _ring.AsSpan(Offset(slot.Position) + EntryOverhead, slot.Length).ToArray();
            // Among the oldest quarter: next in line to be dropped, but read, so it moves to the head.
            if (slot.Position - _tail < _capacity / 4)
                Append(id, version, copy);
            value = UnsafeByteOperations.UnsafeWrap(copy);
            return true;
        }
    }

    /// <summary>Forgets <paramref name="id"/> (it was deleted); its ring space is reused when the head comes round.</summary>
    public void Remove(long id)
    {
        if (!Enabled)
            return;
        lock (_lock)
        {
            if (_slots.Remove(id, out var slot))
                Forget(slot);
        }
    }

    private bool Fits(int length) => Enabled && length <= _capacity - EntryOverhead;

    private int Offset(long position) => (int)(position % _capacity);

    /// <summary>Writes the record at the head, dropping the oldest records until it has room; the lock is held.</summary>
    private void Append(long id, long version, ReadOnlySpan<byte> value)
    {
        var size = EntryOverhead + value.Length;
        while (true)
        {
            var offset = Offset(_head);
            var room = _capacity - offset;
            // A record never wraps: one that does not fit before the end leaves that space and starts at the ring's start.
            var need = Math.Min(room, size);
            if (_capacity - (_head - _tail) < need)
            {
                DropOldest();
                continue;
            }

            if (room < size)
            {
                if (room >= EntryOverhead)
                    WriteHeader(offset, 0, SkipToStart);
                _head += room;
                continue;
            }

            WriteHeader(offset, id, value.Length);
            value.CopyTo(_ring.AsSpan(offset + EntryOverhead));
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, id, out var existed);
            if (existed)
                Forget(slot);
            slot = new Slot { Position = _head, Version = version, Length = value.Length };
            Volatile.Write(ref _bytes, _bytes + size);
            Volatile.Write(ref _count, _count + 1);
            _head += size;
            return;
        }
    }

    /// <summary>Moves the tail past its record (or skipped space); the id goes if that record is still its value.</summary>
    private void DropOldest()
    {
        var offset = Offset(_tail);
        var room = _capacity - offset;
        var length = room < EntryOverhead ? SkipToStart : BinaryPrimitives.ReadInt32LittleEndian(_ring.AsSpan(offset + sizeof(long)));
        if (length == SkipToStart)
        {
            _tail += room;
            return;
        }

        var id = BinaryPrimitives.ReadInt64LittleEndian(_ring.AsSpan(offset));
        ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_slots, id);
        if (!Unsafe.IsNullRef(ref slot) && slot.Position == _tail)
        {
            Forget(slot);
            _slots.Remove(id);
        }

        _tail += EntryOverhead + length;
    }

    private void WriteHeader(int offset, long id, int length)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_ring.AsSpan(offset), id);
        BinaryPrimitives.WriteInt32LittleEndian(_ring.AsSpan(offset + sizeof(long)), length);
    }

    private void Forget(Slot slot)
    {
        Volatile.Write(ref _bytes, _bytes - (EntryOverhead + slot.Length));
        Volatile.Write(ref _count, _count - 1);
    }
}
