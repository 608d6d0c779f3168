// Package escpos writes and reads ESC/POS, the command language of Epson
// TM-class and of the Chinese 58/80 mm thermal receipt printers.
//
// It follows the Epson "ESC/POS Command Reference" (the command lengths and
// meanings, the DLE EOT status bytes) and GB 18030-2005 for Chinese text,
// which a printer prints after FS & ("select Kanji character mode").
//
// Three parts:
//
//   - Builder writes the byte stream of a receipt: text in ASCII or GB18030,
//     bold, character size, alignment, feeds, cut, QR code, CODE128.
//   - Decoder reads any byte stream back into a Paper: the lines a person
//     sees, with their attributes, QR payloads, barcodes and cuts. The
//     printer simulator and `posfw escpos render` use it. Paper.Text lays the
//     paper out in 32 (58 mm) or 48 (80 mm) columns.
//   - Status parses the printer's replies to DLE EOT n, and builds them for
//     the simulator.
//
// A PNG picture of the paper is drawn by package paperpng.
// (e.g. a 24×24 GB2312 set, as the printers carry) to be worth looking at.
package escpos
