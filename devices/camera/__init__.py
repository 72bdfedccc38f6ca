"""Document cameras (高拍仪): capture, find and straighten the page, read QR codes and barcodes."""
