// Save text as a file the browser downloads (an export). A Blob URL and an <a download>: works in the browser served by
// the daemon and in the Electron window alike, and needs no cookie on the download (the text was fetched with the
// API's credentials). Browser-only (document, URL.createObjectURL).
export function saveTextFile(fileName: string, text: string, contentType: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: contentType }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // the download has started from the URL by the time the click returns; revoke once the browser let go of it
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
