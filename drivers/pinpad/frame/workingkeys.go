package frame

// Master/session keys (DESIGN.md §6: the firmware never holds a clear terminal master
// key or working key). The PIN pad keeps the terminal master key (TMK) and the working
// keys of the last sign-on, and computes with them; the terminal only carries
// encrypted keys to it and asks for MACs, encrypted track data and PIN blocks.
//
//	command            code  request fields                     response fields (OK)
//	load TMK           19    TMK under transport key            TMK check
//	load TMK part      1A    key part, part no, parts           check value (of the part),
//	                                                            TMK check (after the last)
//	load working keys  1B    MAK, MAK check [, PIK, PIK check]  -
//	                         [, TDK, TDK check]
//	MAC                1C    MAC algorithm, data 1 [..data 4]    MAC
//	encrypt track      1D    track block                         track block
//
//	tag  field          value
//	50   TMK            16 bytes: the TMK encrypted under the pad's transport key (TDES
//	                    ECB, two-key), as a key injection facility exports it
//	51   key part       16 bytes: one clear component of the TMK; the pad XORs the
//	                    parts and installs the result after the last (a part alone is
//	                    not the key, and the whole never crosses the line)
//	52   part no        1 byte, 1..parts
//	53   parts          1 byte, 2 or 3
//	54   check value    3 or 4 bytes: the first bytes of the key's TDES (single DES for
//	                    an 8-byte key) encryption of 8 zero bytes
//	55   TMK check      4 bytes: the check value of the TMK now installed
//	56   PIK            8 or 16 bytes, under the TMK (TDES ECB)
//	57   PIK check      3 or 4 bytes, of the clear PIK
//	58   MAK            8 or 16 bytes under the TMK; a 16-byte MAK whose last 8 bytes
//	                    are zero is E(MAK8) + 8 zero bytes: a single-length MAK
//	59   MAK check      3 or 4 bytes
//	5A   TDK            16 bytes under the TMK
//	5B   TDK check      3 or 4 bytes
//	5C   MAC algorithm  1 byte: 1 ANSI X9.19 (double-length MAK), 2 CUP ECB
//	5D   MAC            8 bytes (CUP ECB: 8 ASCII hex characters)
//	5E   track block    8 or 16 bytes: TDES ECB under the TDK
//	60-63 data 1-4      0-255 bytes each, concatenated in tag order: the MACed data
//
//	status  meaning
//	0B      bad check value: a working key does not match its check value; none of
//	        the keys of the request is installed, the ones held stay
//
// Load working keys installs all the keys of the request or none. Without a TMK, load
// working keys answers no key; without a MAK (TDK), MAC (encrypt track) answers no
// key. A get PIN request whose flags have FlagSessionKey encrypts the PIN block under
// the PIK instead of DUKPT and answers a KSN of ten zero bytes. The pad's transport
// key is set at manufacture (the simulator's is padsim.TestTransportKey).
const (
	CmdLoadTMK         Command = 0x19
	CmdLoadTMKPart     Command = 0x1A
	CmdLoadWorkingKeys Command = 0x1B
	CmdMAC             Command = 0x1C
	CmdEncryptTrack    Command = 0x1D
)

// Tags of the master/session key commands.
const (
	TagTMK        Tag = 0x50
	TagKeyPart    Tag = 0x51
	TagPartNo     Tag = 0x52
	TagParts      Tag = 0x53
	TagCheckValue Tag = 0x54
	TagTMKCheck   Tag = 0x55
	TagPIK        Tag = 0x56
	TagPIKCheck   Tag = 0x57
	TagMAK        Tag = 0x58
	TagMAKCheck   Tag = 0x59
	TagTDK        Tag = 0x5A
	TagTDKCheck   Tag = 0x5B
	TagMACAlg     Tag = 0x5C
	TagMAC        Tag = 0x5D
	TagTrackBlock Tag = 0x5E
	TagData1      Tag = 0x60
	TagData2      Tag = 0x61
	TagData3      Tag = 0x62
	TagData4      Tag = 0x63
)

// DataTags are the tags of the MACed data, in order.
var DataTags = []Tag{TagData1, TagData2, TagData3, TagData4}

// FlagSessionKey in a get PIN request's flags: the PIN block under the PIK.
const FlagSessionKey = 0x02

// StatusBadCheck: a working key does not match its check value.
const StatusBadCheck Status = 0x0B

// MAC algorithms of TagMACAlg.
const (
	MACX919   = 1
	MACCUPECB = 2
)

func init() {
	statusNames[StatusBadCheck] = "bad check value"
	for t, s := range map[Tag]tagSpec{
		TagTMK:        {"TMK", 16, 16, binary, true},
		TagKeyPart:    {"key part", 16, 16, binary, true},
		TagPartNo:     {"part no", 1, 1, binary, false},
		TagParts:      {"parts", 1, 1, binary, false},
		TagCheckValue: {"check value", 3, 4, binary, false},
		TagTMKCheck:   {"TMK check", 4, 4, binary, false},
		TagPIK:        {"PIK", 8, 16, binary, true},
		TagPIKCheck:   {"PIK check", 3, 4, binary, false},
		TagMAK:        {"MAK", 8, 16, binary, true},
		TagMAKCheck:   {"MAK check", 3, 4, binary, false},
		TagTDK:        {"TDK", 16, 16, binary, true},
		TagTDKCheck:   {"TDK check", 3, 4, binary, false},
		TagMACAlg:     {"MAC algorithm", 1, 1, binary, false},
		TagMAC:        {"MAC", 8, 8, binary, false},
		TagTrackBlock: {"track block", 8, 16, binary, true},
		TagData1:      {"data 1", 0, 255, binary, true},
		TagData2:      {"data 2", 0, 255, binary, true},
		TagData3:      {"data 3", 0, 255, binary, true},
		TagData4:      {"data 4", 0, 255, binary, true},
	} {
		tags[t] = s
	}
	commands[CmdLoadTMK] = commandSpec{"load TMK", []Tag{TagTMK}, []Tag{TagTMKCheck}}
	commands[CmdLoadTMKPart] = commandSpec{"load TMK part", []Tag{TagKeyPart, TagPartNo, TagParts}, []Tag{TagCheckValue}}
	commands[CmdLoadWorkingKeys] = commandSpec{"load working keys", []Tag{TagMAK, TagMAKCheck}, nil}
	commands[CmdMAC] = commandSpec{"MAC", []Tag{TagMACAlg, TagData1}, []Tag{TagMAC}}
	commands[CmdEncryptTrack] = commandSpec{"encrypt track", []Tag{TagTrackBlock}, []Tag{TagTrackBlock}}
}
