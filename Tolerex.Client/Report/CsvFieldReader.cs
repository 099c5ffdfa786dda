using System.Text;

namespace Tolerex.Client.Report;

/// <summary>
/// Splits RFC 4180 CSV into records: comma-separated fields, optionally double-quoted, with <c>""</c> for a
/// quote inside a quoted field (which may also hold commas and line breaks). Blank lines are skipped. A
/// malformed record throws <see cref="FormatException"/>; <see cref="RecordLine"/> says where it started.
/// </summary>
internal sealed class CsvFieldReader(TextReader reader)
{
    private readonly StringBuilder _field = new();
    private int _line = 1;

    /// <summary>1-based line on which the record last read (or being read) starts.</summary>
    public int RecordLine { get; private set; }

    public bool TryReadRecord(List<string> fields)
    {
        fields.Clear();
        var c = reader.Read();
        while (c is '\r' or '\n')
        {
            EndLine(c);
            c = reader.Read();
        }

        RecordLine = _line;
        if (c == -1)
            return false;

        while (true)
        {
            _field.Clear();
            if (c == '"')
            {
                while (true)
                {
                    c = reader.Read();
                    if (c == -1)
                        throw new FormatException("unterminated quoted field");
                    if (c == '"')
                    {
                        if (reader.Peek() != '"')
                            break;
                        reader.Read();
                    }
                    else if (c == '\n' || (c == '\r' && reader.Peek() != '\n'))
                    {
                        _line++;
                    }

                    _field.Append((char)c);
                }

                c = reader.Read();
                if (c is not (',' or '\r' or '\n' or -1))
                    throw new FormatException("unexpected character after a closing quote");
            }
            else
            {
                while (c is not (',' or '\r' or '\n' or -1))
                {
                    if (c == '"')
                        throw new FormatException("quote inside an unquoted field");
                    _field.Append((char)c);
                    c = reader.Read();
                }
            }

            fields.Add(_field.ToString());
            if (c == ',')
            {
                c = reader.Read();
                continue;
            }

            EndLine(c);
            return true;
        }
    }

    /// <summary>Counts a line break: CRLF, LF, or a lone CR (old Mac files) each end one line.</summary>
    private void EndLine(int c)
    {
        if (c == -1)
            return;
        if (c == '\r' && reader.Peek() == '\n')
            reader.Read();
        _line++;
    }
}
